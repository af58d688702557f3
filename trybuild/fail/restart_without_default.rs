use thespian::prelude::*;

struct Configured {
    limit: u32,
}

// A restart rebuilds the state with `Default`, which this actor does not have.
#[actor(local, on_panic = restart)]
impl Configured {
    #[handler]
    fn check(&mut self, n: u32) -> bool {
        n < self.limit
    }
}

fn main() {}
