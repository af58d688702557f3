use thespian::prelude::*;

#[derive(Default)]
struct Painter;

#[actor(require_capability(value = "red"))]
impl Painter {
    #[handler]
    fn hi(&mut self, _msg: String) {}
}

fn main() {}
