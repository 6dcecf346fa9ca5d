//! Branding the crate's sign-in and wait pages.

use iampass::actix::{ColorScheme, Iampass};

fn main() -> Result<(), iampass::Error> {
    let iampass = Iampass::builder("app", "secret")
        .cookie_key(&[1u8; 64])
        .app_name("Acme Notes") // above the pages and in their titles
        .home_link("/") // a same-site path or an http(s) URL
        .page_style("--accent", "#4338ca") // also --fail --muted --bg --fg --card --border --font
        .page_style("--font", "\"Inter\", system-ui, sans-serif")
        .color_scheme(ColorScheme::Light) // Auto (default: follow the system), Light, Dark
        .build()?;
    println!("sign-in page: {}", iampass.login_path());
    Ok(())
}
