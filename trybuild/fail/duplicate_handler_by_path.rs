use thespian::prelude::*;

#[derive(Default)]
struct Twice;

#[actor]
impl Twice {
    #[handler]
    fn short(&mut self, _msg: String) {}

    #[handler]
    fn long(&mut self, _msg: std::string::String) {}
}

fn main() {}
