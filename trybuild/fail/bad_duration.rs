use thespian::prelude::*;

#[derive(Default)]
struct Sleepy;

#[actor(transient(exit_after = "ten seconds"))]
impl Sleepy {
    #[handler]
    fn hi(&mut self, _msg: String) {}
}

fn main() {}
