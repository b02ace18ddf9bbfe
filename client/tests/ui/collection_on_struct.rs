#[derive(keyfall::Collection)]
struct View {
    customer: String,
}

fn main() {}
