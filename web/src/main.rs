//! The browser app. Today: the ICD-10-CM code search over the full table,
//! loaded from the same origin. Note coding in a Web Worker lands with issue #5.

mod app;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
