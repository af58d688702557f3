use thespian::prelude::*;

struct Sandboxed;

#[actor(local, process)]
impl Sandboxed {
    #[handler]
    fn run(&mut self, _msg: String) {}
}

fn main() {}
