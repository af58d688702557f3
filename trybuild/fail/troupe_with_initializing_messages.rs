use thespian::prelude::*;

#[derive(Default)]
struct Worker;

#[actor(troupe(max_count = 4), initializing_messages(u32))]
impl Worker {
    #[handler]
    fn config(&mut self, _msg: u32) {}
    #[handler]
    fn work(&mut self, _msg: String) {}
}

fn main() {}
