//! The browser app (page side). The model runs in a Web Worker (`bin/worker.rs`); this side is
//! the Leptos UI. Nothing typed here is sent over the network.
#![forbid(unsafe_code)]

mod app;
mod client;
mod dom;
mod panels;
mod state;
mod store;
mod table_client;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
