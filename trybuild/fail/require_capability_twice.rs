use thespian::prelude::*;

#[derive(Default)]
struct Painter;

#[actor(require_capability(name = "Colour", value = "red"), require_capability(name = "Colour", value = "blue"))]
impl Painter {
    #[handler]
    fn hi(&mut self, _msg: String) {}
}

fn main() {}
