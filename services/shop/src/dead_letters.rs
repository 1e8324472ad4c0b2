//! `shop dlq`: the events consumers gave up on — list them with their errors, and publish one
//! again once the cause is fixed.

use clap::Subcommand;
use shop_messaging::{jetstream::JetStreamBus, runtime::MessagingConfig};

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List dead letters, oldest first.
    List,
    /// Publish dead letter SEQUENCE to its original subject again and remove it.
    Replay { sequence: u64 },
}

pub async fn run(command: DlqCommand, config: &MessagingConfig) -> anyhow::Result<()> {
    let bus = JetStreamBus::connect(&config.nats_url).await?;
    let namespace = &config.event_namespace;
    match command {
        DlqCommand::List => {
            let letters = bus.dead_letters(namespace).await?;
            if letters.is_empty() {
                println!("no dead letters in namespace {namespace}");
            }
            for (sequence, letter) in letters {
                let event = letter
                    .event()
                    .map_or_else(|| "(not an event)".to_owned(), |(kind, id)| format!("{kind} {id}"));
                println!(
                    "{sequence:>6}  {:<20} {event}\n        error: {}",
                    letter.consumer, letter.error
                );
            }
        }
        DlqCommand::Replay { sequence } => {
            let letter = bus.replay_dead_letter(namespace, sequence).await?;
            println!("re-published dead letter {sequence} to {}", letter.subject);
        }
    }
    Ok(())
}
