use thespian::prelude::*;

#[derive(Default)]
struct Fragile;

#[actor(on_panic = reboot)]
impl Fragile {
    #[handler]
    fn hi(&mut self, _msg: String) {}
}

fn main() {}
