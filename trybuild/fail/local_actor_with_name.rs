use thespian::prelude::*;

struct Counter {
    count: u32,
}

#[actor(local, name = "app::Counter")]
impl Counter {
    #[handler]
    fn add(&mut self, by: u32) -> u32 {
        self.count += by;
        self.count
    }
}

fn main() {}
