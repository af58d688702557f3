use thespian::prelude::*;

struct Traitor;

#[actor]
impl Default for Traitor {
    fn default() -> Self {
        Traitor
    }
}

fn main() {}
