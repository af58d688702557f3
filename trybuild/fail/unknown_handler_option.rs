use thespian::prelude::*;

#[derive(Default)]
struct Misspelt;

#[actor]
impl Misspelt {
    #[handler(fallbak)]
    fn other(&mut self, _msg: Box<dyn Message>) {}
}

fn main() {}
