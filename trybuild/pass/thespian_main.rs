#[thespian::main]
fn main() {
    let system = thespian::ActorSystem::new().unwrap();
    system.shutdown().unwrap();
}
