use thespian::prelude::*;

struct Worker;

#[actor(local, troupe(max_count = 4))]
impl Worker {
    #[handler]
    fn work(&mut self, _msg: String) {}
}

fn main() {}
