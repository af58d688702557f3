use thespian::prelude::*;

#[derive(Default)]
struct Worker;

#[actor(troupe(max_workers = 4))]
impl Worker {
    #[handler]
    fn work(&mut self, _msg: String) {}
}

fn main() {}
