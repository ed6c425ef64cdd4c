//! `tp-invite business-unit <DOMAIN>`: the business unit id of a shop's domain.

use std::sync::Arc;

use crate::api::{Client, Credentials, Endpoints, NoPace};
use crate::cli::BusinessUnitArgs;
use crate::cmd::endpoints;
use crate::error::Result;
use crate::exit::Exit;

pub fn run(args: BusinessUnitArgs) -> Result<Exit> {
    let runtime = crate::cmd::runtime()?;
    runtime.block_on(async {
        // Finding a business unit needs only the API key: ask for no more than that.
        let (endpoints, credentials, _sandbox) = match args.sandbox {
            true => endpoints(true).await?,
            false => (Endpoints::from_env()?, Credentials::key_only_from_env()?, None),
        };
        let client = Client::new(endpoints, credentials, Arc::new(NoPace))?;
        let unit = client.find_business_unit(args.domain.trim()).await?;
        match &unit.display_name {
            Some(name) => println!("{}\t{name}", unit.id),
            None => println!("{}", unit.id),
        }
        Ok(Exit::Success)
    })
}
