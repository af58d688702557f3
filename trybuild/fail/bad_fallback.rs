use thespian::prelude::*;

#[derive(Default)]
struct CatchAll;

#[actor]
impl CatchAll {
    #[handler(fallback)]
    fn typed(&mut self, _msg: String) {}

    #[handler(fallback)]
    fn first(&mut self, _msg: Box<dyn Message>) {}

    #[handler(fallback)]
    fn second(&mut self, _msg: Box<dyn Message>) {}
}

fn main() {}
