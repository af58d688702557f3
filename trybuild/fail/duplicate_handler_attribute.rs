use thespian::prelude::*;

#[derive(Default)]
struct Stutter;

#[actor]
impl Stutter {
    #[handler]
    #[handler]
    fn hi(&mut self, _msg: String) {}
}

fn main() {}
