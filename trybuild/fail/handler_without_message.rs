use thespian::prelude::*;

#[derive(Default)]
struct Idle;

#[actor]
impl Idle {
    #[handler]
    fn only_self(&mut self) {}

    #[handler]
    fn only_context(&mut self, cx: &mut Context<'_>) {
        cx.exit();
    }
}

fn main() {}
