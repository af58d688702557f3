#[thespian::main]
async fn main() {}
