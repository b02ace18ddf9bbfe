#[derive(keyfall::Collection)]
enum View {
    Text(String),
}

fn main() {}
