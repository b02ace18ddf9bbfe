//! Quickstart: connect from the environment, create a table, then put, get, update, query
//! and delete, printing each step and checking each result.
//!
//! ```text
//! cargo run --release -p keyfall-server &          # prints its root credentials
//! export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...
//! cargo run -p keyfall-examples --bin quickstart
//! ```

use anyhow::Context;
use keyfall::{Client, Entity, TableDefinition};
use keyfall_examples::{check, init_telemetry};
use serde::{Deserialize, Serialize};

/// A note in a user's notebook: partition per user, sorted by the note's slug.
#[derive(Entity, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[keyfall(table = "quickstart_notes", pk = "USER#{user}", sk = "NOTE#{slug}")]
struct Note {
    user: String,
    slug: String,
    title: String,
    #[serde(default)]
    tags: Vec<String>,
    views: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = init_telemetry("keyfall-quickstart")?;
    let client = Client::from_env().context("KEYFALL_ENDPOINT or AWS_* settings")?;
    println!("connected to {}", client.endpoint());

    let table = TableDefinition::of::<Note>();
    client.delete_table(table.name()).await?;
    client.create_table(&table).await?;
    println!("created table {}", table.name());

    let note = Note {
        user: "ada".into(),
        slug: "engines".into(),
        title: "Notes on the analytical engine".into(),
        tags: vec!["math".into()],
        views: 0,
    };
    client.create(note.clone()).await?;
    println!("put {note:?}");

    let read = client.get(Note::key("ada", "engines")).await?;
    check(
        read.as_ref() == Some(&note),
        "get returns the note as written",
    )?;

    let attrs = Note::attrs();
    let updated = client
        .update(
            Note::key("ada", "engines"),
            attrs
                .views
                .increment(1u64)
                .and(attrs.title.set("Sketch of the engine")),
        )
        .await?;
    println!("updated: views={} title={:?}", updated.views, updated.title);
    check(
        updated.views == 1 && updated.title == "Sketch of the engine",
        "update applies",
    )?;

    for slug in ["bernoulli", "looms"] {
        client
            .put(Note {
                slug: slug.into(),
                title: format!("On {slug}"),
                ..note.clone()
            })
            .await?;
    }
    let notes: Vec<Note> = client.query(Note::partition("ada")).await?;
    let slugs: Vec<&str> = notes.iter().map(|n| n.slug.as_str()).collect();
    println!("query USER#ada: {slugs:?}");
    check(
        slugs == ["bernoulli", "engines", "looms"],
        "query returns the partition in sort order",
    )?;

    let popular: Vec<Note> = client
        .query(Note::partition("ada"))
        .filter(attrs.views.gt(0u64))
        .await?;
    check(
        popular.len() == 1 && popular[0].slug == "engines",
        "a filter narrows the query",
    )?;

    let deleted = client.delete(Note::key("ada", "engines")).await?;
    check(
        deleted.is_some_and(|n| n.views == 1),
        "delete returns the old note",
    )?;
    check(
        client.get(Note::key("ada", "engines")).await?.is_none(),
        "the note is gone",
    )?;

    client.delete_table(table.name()).await?;
    println!("quickstart finished");
    Ok(())
}
