//! `tp-invite business-unit <DOMAIN>`: the business unit id of a shop's domain.

use std::sync::Arc;

use anyhow::{Context, Result};

use crate::api::{self, Client, Credentials, Endpoints, Grant, NoPace};
use crate::cli::BusinessUnitArgs;
use crate::cmd::{Fatal, endpoints};
use crate::exit::Exit;

pub fn run(args: BusinessUnitArgs) -> Result<Exit> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let (endpoints, credentials, _sandbox) = match endpoints(args.sandbox).await {
            Ok(found) => found,
            // Finding a business unit needs only the API key: ask for no more than that.
            Err(error) => match std::env::var(api::API_KEY_VAR).ok().filter(|key| !key.trim().is_empty()) {
                Some(key) if !args.sandbox => {
                    let endpoints = Endpoints::from_env().map_err(|e| Fatal(e.to_string()))?;
                    let credentials = Credentials {
                        api_key: key.trim().to_string().into(),
                        api_secret: String::new().into(),
                        grant: Grant::ClientCredentials { business_user_id: String::new() },
                    };
                    (endpoints, credentials, None)
                }
                _ => return Err(error),
            },
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
