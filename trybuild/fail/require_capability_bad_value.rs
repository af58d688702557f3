use thespian::prelude::*;

#[derive(Default)]
struct Painter;

#[actor(require_capability(name = "Colours", value = ["red", "blue"]))]
impl Painter {
    #[handler]
    fn hi(&mut self, _msg: String) {}
}

fn main() {}
