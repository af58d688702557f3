use thespian::prelude::*;

#[derive(Default)]
struct Twice;

#[actor]
impl Twice {
    #[handler]
    fn first(&mut self, _msg: String) {}

    #[handler]
    fn by_ref(&mut self, _msg: &String) {}
}

fn main() {}
