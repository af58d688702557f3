use thespian::prelude::*;

struct NoDefault {
    count: u32,
}

#[actor]
impl NoDefault {
    #[handler]
    fn add(&mut self, by: u32) -> u32 {
        self.count += by;
        self.count
    }
}

fn main() {}
