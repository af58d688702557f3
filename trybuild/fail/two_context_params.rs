use thespian::prelude::*;

#[derive(Default)]
struct Doubled;

#[actor]
impl Doubled {
    #[handler]
    fn two_contexts(&mut self, _msg: String, _a: &mut Context<'_>, _b: &mut Context<'_>) {}

    #[handler]
    fn two_senders(&mut self, _msg: u32, _a: ActorAddress, _b: ActorAddress) {}
}

fn main() {}
