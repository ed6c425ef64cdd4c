//! `tp-invite business-unit <DOMAIN>`: the business unit id of a shop's domain.

use std::sync::Arc;

use anyhow::{Context, Result};

use crate::api::{Client, Credentials, Endpoints, NoPace};
use crate::cli::BusinessUnitArgs;
use crate::cmd::{Fatal, endpoints};
use crate::exit::Exit;

pub fn run(args: BusinessUnitArgs) -> Result<Exit> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async {
        // Finding a business unit needs only the API key: ask for no more than that.
        let (endpoints, credentials, _sandbox) = match args.sandbox {
            true => endpoints(true).await?,
            false => (
                Endpoints::from_env().map_err(|e| Fatal(e.to_string()))?,
                Credentials::key_only_from_env().map_err(|e| Fatal(e.to_string()))?,
                None,
            ),
        };
        let client = Client::new(endpoints, credentials, Arc::new(NoPace)).map_err(|e| Fatal(e.to_string()))?;
        let unit = client.find_business_unit(args.domain.trim()).await.map_err(|e| Fatal(e.to_string()))?;
        match &unit.display_name {
            Some(name) => println!("{}\t{name}", unit.id),
            None => println!("{}", unit.id),
        }
        Ok(Exit::Success)
    })
}
