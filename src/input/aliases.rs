//! The header names real exports use for each field, and the words that tell what else a
//! column is (a product, a count, a phone number), all [`normalise`](super::header::normalise)d.
//!
//! Exports in English, German, French, Dutch, the Nordic languages, Spanish, Italian and
//! Polish, and the column names of the shop, marketplace and CRM platforms listed in
//! `sample-data/README.md`. Each list is in priority order, the more specific first.

pub(crate) const EMAIL: &[&str] = &[
    "customeremail",
    "customeremailaddress",
    "consumeremail",
    "consumeremailaddress",
    "buyeremail",
    "buyeremailaddress",
    "purchaseremail",
    "clientemail",
    "billingemail",
    "billingemailaddress",
    "email(billing)",
    "kundenemail",
    "kundeemail",
    "email",
    "emailaddress",
    "emailadresse",
    "emailadres",
    "emailadress",
    "adresseemail",
    "adressemail",
    "adresseélectronique",
    "courriel",
    "adressecourriel",
    "correoelectrónico",
    "correoelectronico",
    "correo",
    "indirizzoemail",
    "sähköposti",
    "sähköpostiosoite",
    "epost",
    "epostadress",
    "epostadresse",
    "contactemail",
    "shippingemail",
    "mail",
    "mailaddress",
];

/// A name in one column that says whose it is.
pub(crate) const FULL_NAME: &[&str] = &[
    "fullname",
    "customerfullname",
    "customername",
    "consumername",
    "buyername",
    "buyerfullname",
    "purchasername",
    "clientname",
    "billingname",
    "billingfullname",
    "billtoname",
    "name(billing)",
    "kundenname",
    "kundename",
    "klantnaam",
    "nomcomplet",
    "nombrecompleto",
    "nomecompleto",
    "vollständigername",
    "vollstandigername",
    "volledigenaam",
    "fuldenavn",
    "contactname",
];

/// A bare `Name`: the customer's in a customer list, but the order number in a Shopify order
/// export and the product's beside product columns.
pub(crate) const BARE_NAME: &[&str] = &["name", "navn", "naam", "namn", "nimi"];

/// The recipient's name, or the name on the card: the customer's only when nothing better is
/// there.
pub(crate) const OTHER_NAME: &[&str] = &[
    "shippingname",
    "shippingfullname",
    "shiptoname",
    "recipientname",
    "posttoname",
    "shipname",
    "cardholdername",
    "nameoncard",
    "cardname",
];

pub(crate) const BILLING_FIRST_NAME: &[&str] =
    &["billingfirstname", "firstname(billing)", "customerfirstname", "buyerfirstname"];
pub(crate) const BILLING_LAST_NAME: &[&str] =
    &["billinglastname", "lastname(billing)", "customerlastname", "buyerlastname"];

pub(crate) const FIRST_NAME: &[&str] = &[
    "firstname",
    "givenname",
    "forename",
    "fname",
    "vorname",
    "prénom",
    "prenom",
    "voornaam",
    "fornavn",
    "förnamn",
    "fornamn",
    "etunimi",
    "nombre",
    "nome",
    "imię",
    "imie",
];

pub(crate) const LAST_NAME: &[&str] = &[
    "lastname",
    "surname",
    "familyname",
    "lname",
    "nachname",
    "familienname",
    "nom",
    "nomdefamille",
    "achternaam",
    "efternavn",
    "etternavn",
    "efternamn",
    "sukunimi",
    "cognome",
    "apellidos",
    "apellido",
    "nazwisko",
];

pub(crate) const SHIPPING_FIRST_NAME: &[&str] = &["shippingfirstname", "firstname(shipping)"];
pub(crate) const SHIPPING_LAST_NAME: &[&str] = &["shippinglastname", "lastname(shipping)"];

/// An order's or an invoice's number: what a customer knows the purchase by.
pub(crate) const REFERENCE: &[&str] = &[
    "reference",
    "referencenumber",
    "referenceno",
    "referenceid",
    "ref",
    "refno",
    "refnr",
    "ordernumber",
    "orderno",
    "ordernr",
    "order#",
    "orderid",
    "amazonorderid",
    "orderreference",
    "orderref",
    "order",
    "invoicenumber",
    "invoiceno",
    "invoicenr",
    "invoiceid",
    "invoice",
    "transactionid",
    "transactionnumber",
    "bookingreference",
    "bookingref",
    "bookingnumber",
    "bookingid",
    "reservationnumber",
    "reservationid",
    "confirmationnumber",
    "referenz",
    "referenznummer",
    "bestellnummer",
    "bestellnr",
    "bestellid",
    "auftragsnummer",
    "auftragsnr",
    "rechnungsnummer",
    "rechnungsnr",
    "référence",
    "numérodecommande",
    "numerodecommande",
    "n°decommande",
    "commande",
    "numérodefacture",
    "numerodefacture",
    "ordrenummer",
    "ordrenr",
    "bestelnummer",
    "ordernummer",
    "factuurnummer",
    "fakturanummer",
    "fakturanr",
    "númerodepedido",
    "numerodepedido",
    "pedido",
    "numeroordine",
    "tilausnumero",
    "numerzamówienia",
];

/// A row's own id, and the ids a customer list or CRM gives each customer (HubSpot's
/// `Record ID`, Klaviyo's `Klaviyo ID`, Mailchimp's `LEID` and `EUID`): a reference when the
/// file has no order number, so that each customer is invited once.
pub(crate) const CUSTOMER_ID: &[&str] = &[
    "id",
    "customerid",
    "customernumber",
    "customerno",
    "kundennummer",
    "kundennr",
    "kundenummer",
    "klantnummer",
    "numéroclient",
    "numeroclient",
    "recordid",
    "contactid",
    "klaviyoid",
    "profileid",
    "subscriberid",
    "memberid",
    "leid",
    "euid",
];

/// Column names no shop platform writes: a file with one of them was laid out for this tool,
/// so its `tags` and `location` columns are Trustpilot's.
pub(crate) const OWN_LAYOUT: &[&str] = &[
    "reference",
    "referencenumber",
    "redirecturi",
    "preferredsendtime",
    "templateid",
    "senderemail",
    "sendername",
    "replyto",
    "locationid",
    "invitationtags",
    "trustpilottags",
];

/// Words of a column about the products of an order: a bare `Name` beside one names the
/// product.
pub(crate) const PRODUCT_WORDS: &[&str] = &[
    "sku",
    "product",
    "item",
    "quantity",
    "qty",
    "price",
    "variant",
    "variation",
    "gtin",
    "ean",
    "upc",
    "asin",
    "mpn",
    "listing",
    "stock",
    "weight",
    "category",
    "brand",
];

/// Parts of a column's name that make it no identifier of the customer or the order, though
/// it may end in `id` or `number`: phone numbers, postcodes, tax numbers, counts, the ids of
/// other things.
const NOT_AN_IDENTIFIER: &[&str] = &[
    "phone",
    "mobile",
    "fax",
    "zip",
    "postcode",
    "postal",
    "tax",
    "vat",
    "device",
    "session",
    "tracking",
    "company",
    "card",
    "location",
    "product",
    "variant",
    "item",
    "listing",
    "sku",
    "campaign",
    "list",
    "template",
    "page",
    "store",
    "shop",
    "seller",
    "channel",
    "warehouse",
    "source",
    "parent",
    "owner",
    "payment",
    "transfer",
    "checkout",
    "cart",
    "gift",
    "coupon",
    "discount",
    "total",
    "quantity",
    "qty",
    "orders",
];

/// Whole words of a column's name that make it no identifier (`IP`, `Tel.`, `Count`).
const NOT_AN_IDENTIFIER_WORD: &[&str] = &["ip", "tel", "count", "number of", "no of"];

/// Words of a column that mentions mail but holds no address.
const NOT_AN_ADDRESS: &[&str] =
    &["marketing", "consent", "accepts", "status", "verified", "optin", "subscri", "bounce", "open", "click", "sent"];

/// Words of a column that mentions a name but is not a person's.
const NOT_A_PERSON: &[&str] = &[
    "product", "item", "company", "user", "account", "shop", "store", "file", "domain", "campaign", "list", "template",
    "street", "address", "city", "country", "phone", "mail", "business", "organi", "variant", "method", "title",
    "brand", "category", "tag", "source", "page", "new",
];

/// The column could identify a customer or an order: `Record ID`, `Customer ID`, `Beleg-Nr`,
/// `Username`, `LEID`; not `Total Orders`, `Phone Number`, `Device ID` or a free-text column.
pub(crate) fn identifier_like(shown: &str, norm: &str) -> bool {
    let words: Vec<String> = shown
        .split(|c: char| !c.is_alphanumeric() && c != '#')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let phrase = words.join(" ");
    if NOT_AN_IDENTIFIER.iter().any(|part| norm.contains(part))
        || NOT_AN_IDENTIFIER_WORD.iter().any(|word| match word.contains(' ') {
            true => phrase.contains(word),
            false => words.iter().any(|w| w == word),
        })
    {
        return false;
    }
    if CUSTOMER_ID.contains(&norm) || REFERENCE.contains(&norm) || ["username", "userid", "login"].contains(&norm) {
        return true;
    }
    let last_word = words.last().map_or("", String::as_str);
    ["id", "number", "no", "nr", "num", "ref", "#", "nummer", "numero", "número", "numéro"].contains(&last_word)
        || norm.ends_with("nummer")
        || norm.ends_with("id")
}

/// The column's name suggests it holds an email address.
pub(crate) fn address_like(norm: &str) -> bool {
    norm.contains("mail") && !NOT_AN_ADDRESS.iter().any(|word| norm.contains(word))
}

/// The column's name suggests it holds a person's name.
pub(crate) fn person_like(norm: &str) -> bool {
    const HINTS: &[&str] = &["name", "navn", "naam", "namn", "nom", "kunde", "customer", "client", "contact", "buyer"];
    HINTS.iter().any(|hint| norm.contains(hint)) && !NOT_A_PERSON.iter().any(|word| norm.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::header::normalise;

    #[test]
    fn identifiers_are_told_from_counts_phones_and_text() {
        let table = [
            ("Record ID", true),
            ("Customer ID", true),
            ("customer_id", true),
            ("LEID", true),
            ("EUID", true),
            ("Username", true),
            ("Beleg-Nr", true),
            ("Kundennummer", true),
            ("Order #", true),
            ("Member No.", true),
            ("Klaviyo ID", true),
            ("Total Orders", false),
            ("Orders", false),
            ("Phone Number", false),
            ("Mobile No", false),
            ("prefix", false),
            ("Notes", false),
            ("Device ID", false),
            ("Primary Associated Company ID", false),
            ("Card ID", false),
            ("Location ID", false),
            ("Tax ID", false),
            ("Zip", false),
            ("Tracking Number", false),
            ("Accepts Email Marketing", false),
            ("Historic Number Of Orders", false),
            ("IP", false),
            ("Account ID", true),
            ("Membership ID", true),
            ("Recipient ID", true),
        ];
        for (name, expected) in table {
            assert_eq!(identifier_like(name, &normalise(name)), expected, "{name}");
        }
    }

    #[test]
    fn addresses_and_people_are_told_by_their_names() {
        for (name, address) in [
            ("Mail Adr", true),
            ("E-mail", true),
            ("Accepts Email Marketing", false),
            ("Email Marketing Consent", false),
        ] {
            assert_eq!(address_like(&normalise(name)), address, "{name}");
        }
        for (name, person) in [
            ("Kunde", true),
            ("Contact", true),
            ("Customer Description", true),
            ("Product Name", false),
            ("Company Name", false),
            ("Username", false),
            ("Shipping Method Title", false),
            ("New client", false),
        ] {
            assert_eq!(person_like(&normalise(name)), person, "{name}");
        }
    }

    #[test]
    fn no_alias_is_listed_twice() {
        let lists = [
            EMAIL,
            FULL_NAME,
            BARE_NAME,
            OTHER_NAME,
            BILLING_FIRST_NAME,
            BILLING_LAST_NAME,
            FIRST_NAME,
            LAST_NAME,
            SHIPPING_FIRST_NAME,
            SHIPPING_LAST_NAME,
            REFERENCE,
            CUSTOMER_ID,
        ];
        let mut all: Vec<&str> = lists.iter().flat_map(|list| list.iter().copied()).collect();
        // The other fields' names, from the table of fields.
        for spec in &crate::fields::FIELDS {
            all.extend(spec.aliases.iter().chain(spec.own_aliases).copied());
        }
        for alias in &all {
            assert_eq!(normalise(alias), *alias, "{alias} is not normalised");
        }
        all.sort_unstable();
        let before = all.len();
        all.dedup();
        assert_eq!(all.len(), before, "an alias is in two lists");
    }
}
