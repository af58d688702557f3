use thespian::prelude::*;

#[derive(Default)]
struct Anything;

#[actor]
impl Anything {
    #[handler]
    fn any<M: Message>(&mut self, _msg: M) {}
}

fn main() {}
