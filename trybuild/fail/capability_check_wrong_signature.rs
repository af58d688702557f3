use thespian::prelude::*;

fn has_gpu(capabilities: &Capabilities) -> bool {
    capabilities.is_truthy("GPU")
}

#[derive(Default)]
struct Trainer;

#[actor(capability_check = has_gpu)]
impl Trainer {
    #[handler]
    fn hi(&mut self, _msg: String) {}
}

fn main() {}
