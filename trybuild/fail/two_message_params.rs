use thespian::prelude::*;

#[derive(Default)]
struct Adder;

#[actor]
impl Adder {
    #[handler]
    fn add(&mut self, a: u32, b: u32) -> u32 {
        a + b
    }
}

fn main() {}
