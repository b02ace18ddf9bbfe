#[derive(keyfall::Collection)]
enum View<E> {
    Entity(E),
}

fn main() {}
