use thespian::prelude::*;

fn has_gpu(capabilities: &Capabilities, _requirements: &Requirements) -> bool {
    capabilities.is_truthy("GPU")
}

fn has_disk(capabilities: &Capabilities, _requirements: &Requirements) -> bool {
    capabilities.is_truthy("Disk")
}

#[derive(Default)]
struct Trainer;

#[actor(capability_check = has_gpu, capability_check = has_disk)]
impl Trainer {
    #[handler]
    fn hi(&mut self, _msg: String) {}
}

fn main() {}
