//! `tp-invite business-unit <DOMAIN>`: the business unit id of a shop's domain.

use std::sync::Arc;

use anyhow::{Context, Result};

use crate::api::{Client, NoPace};
use crate::cli::BusinessUnitArgs;
use crate::cmd::{Fatal, endpoints};
use crate::exit::Exit;

pub fn run(args: BusinessUnitArgs) -> Result<Exit> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let (endpoints, credentials, _sandbox) = endpoints(args.sandbox).await?;
        let client = Client::new(endpoints, credentials, Arc::new(NoPace)).map_err(|e| Fatal(e.to_string()))?;
        let unit = client.find_business_unit(args.domain.trim()).await.map_err(|e| Fatal(e.to_string()))?;
        match &unit.display_name {
            Some(name) => println!("{}\t{name}", unit.id),
            None => println!("{}", unit.id),
        }
        Ok(Exit::Success)
    })
}
