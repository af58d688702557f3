use thespian::prelude::*;

#[derive(Default)]
struct Receivers;

#[actor]
impl Receivers {
    #[handler]
    fn shared(&self, _msg: String) {}

    #[handler]
    fn owned(self, _msg: u32) {}

    #[handler]
    fn boxed(self: Box<Self>, _msg: u64) {}

    #[handler]
    fn associated(_msg: bool) {}
}

fn main() {}
