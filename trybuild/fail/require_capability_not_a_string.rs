use thespian::prelude::*;

#[derive(Default)]
struct Server;

#[actor(require_capability = Server)]
impl Server {
    #[handler]
    fn hi(&mut self, _msg: String) {}
}

fn main() {}
