use thespian::prelude::*;

#[derive(Default)]
struct Misspelt;

#[actor(nmae = "app::Misspelt")]
impl Misspelt {
    #[handler]
    fn hi(&mut self, _msg: String) {}
}

fn main() {}
