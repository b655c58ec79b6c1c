//! The notes front end, compiled to wasm32: lists the notes from the API,
//! creates new ones, and shows the API's errors. Validation runs here first
//! with the same rules as the server (`notes-model`), so most mistakes are
//! shown without a round trip; whatever the server still rejects is shown as
//! it says it.

use notes_model::{ApiError, NewNote, Note};

/// The text of one list entry.
pub fn note_label(note: &Note) -> String {
    note.title.clone()
}

/// The message shown for an answer that is not a success: the API's own
/// error body when it sent one, else the status.
pub fn error_message(status: u16, body: &str) -> String {
    match serde_json::from_str::<ApiError>(body) {
        Ok(error) => error.to_display_string(),
        Err(_) => format!("the server answered {status}"),
    }
}

/// Checks a draft with the server's rules; the message to show if it fails.
pub fn check_draft(title: &str, body: &str) -> Result<NewNote, String> {
    let draft = NewNote {
        title: title.to_owned(),
        body: body.to_owned(),
    };
    match draft.validate() {
        Ok(_) => Ok(draft),
        Err(fields) => Err(ApiError {
            error: "invalid note".to_owned(),
            fields,
        }
        .to_display_string()),
    }
}

#[cfg(target_arch = "wasm32")]
mod browser {
    use super::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen_futures::{JsFuture, spawn_local};
    use web_sys::{
        Document, HtmlInputElement, HtmlTextAreaElement, Request, RequestInit, Response,
    };

    fn document() -> Document {
        web_sys::window()
            .and_then(|w| w.document())
            .expect("a document")
    }

    fn by_id<T: JsCast>(id: &str) -> T {
        document()
            .get_element_by_id(id)
            .unwrap_or_else(|| panic!("#{id} missing from index.html"))
            .dyn_into::<T>()
            .unwrap_or_else(|_| panic!("#{id} has the wrong element type"))
    }

    fn show_error(message: &str) {
        by_id::<web_sys::HtmlElement>("error").set_text_content(Some(message));
    }

    /// `(status, body)` of a request to the API.
    async fn call(method: &str, url: &str, body: Option<String>) -> Result<(u16, String), String> {
        let init = RequestInit::new();
        init.set_method(method);
        if let Some(body) = body {
            init.set_body(&JsValue::from_str(&body));
        }
        let request = Request::new_with_str_and_init(url, &init).map_err(|e| format!("{e:?}"))?;
        if method == "POST" {
            request
                .headers()
                .set("content-type", "application/json")
                .map_err(|e| format!("{e:?}"))?;
        }
        let window = web_sys::window().ok_or("no window")?;
        let response: Response = JsFuture::from(window.fetch_with_request(&request))
            .await
            .map_err(|_| "the API cannot be reached".to_owned())?
            .dyn_into()
            .map_err(|_| "not a response".to_owned())?;
        let text = JsFuture::from(response.text().map_err(|e| format!("{e:?}"))?)
            .await
            .map_err(|e| format!("{e:?}"))?
            .as_string()
            .unwrap_or_default();
        Ok((response.status(), text))
    }

    async fn refresh() {
        match call("GET", "/api/notes", None).await {
            Ok((200, body)) => match serde_json::from_str::<Vec<Note>>(&body) {
                Ok(notes) => render(&notes),
                Err(e) => show_error(&format!("unexpected answer: {e}")),
            },
            Ok((status, body)) => show_error(&error_message(status, &body)),
            Err(e) => show_error(&e),
        }
    }

    fn render(notes: &[Note]) {
        let doc = document();
        let list = by_id::<web_sys::HtmlElement>("notes");
        list.set_inner_html("");
        for note in notes {
            let item = doc.create_element("li").expect("li");
            item.set_attribute("data-id", &note.id).expect("attribute");
            item.set_text_content(Some(&note_label(note)));
            let slug = doc.create_element("span").expect("span");
            slug.set_class_name("slug");
            slug.set_text_content(Some(&note.slug));
            item.append_child(&slug).expect("append");
            list.append_child(&item).expect("append");
        }
        if notes.is_empty() {
            list.set_inner_html("<li id=\"empty\">No notes yet.</li>");
        }
    }

    async fn submit() {
        let title = by_id::<HtmlInputElement>("title");
        let body = by_id::<HtmlTextAreaElement>("body");
        let draft = match check_draft(&title.value(), &body.value()) {
            Ok(draft) => draft,
            Err(message) => return show_error(&message),
        };
        let json = serde_json::json!({ "title": draft.title, "body": draft.body }).to_string();
        match call("POST", "/api/notes", Some(json)).await {
            Ok((201, _)) => {
                show_error("");
                title.set_value("");
                body.set_value("");
                refresh().await;
            }
            Ok((status, body)) => show_error(&error_message(status, &body)),
            Err(e) => show_error(&e),
        }
    }

    #[wasm_bindgen(start)]
    pub fn start() {
        let form = by_id::<web_sys::HtmlFormElement>("new-note");
        let on_submit = Closure::<dyn FnMut(web_sys::Event)>::new(|event: web_sys::Event| {
            event.prevent_default();
            spawn_local(submit());
        });
        form.add_event_listener_with_callback("submit", on_submit.as_ref().unchecked_ref())
            .expect("listener");
        // The page lives as long as the listener: leak the closure on purpose.
        on_submit.forget();
        spawn_local(refresh());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_are_shown_as_the_api_says() {
        let body = r#"{"error":"invalid note","fields":[{"field":"title","message":"must not be empty"}]}"#;
        assert_eq!(
            error_message(422, body),
            "invalid note; title: must not be empty"
        );
        assert_eq!(error_message(502, "<html>"), "the server answered 502");
    }

    #[test]
    fn drafts_are_checked_with_the_server_rules() {
        assert_eq!(
            check_draft(" ", "").unwrap_err(),
            "invalid note; title: must not be empty"
        );
        assert_eq!(check_draft("Milk", "2 l").unwrap().title, "Milk");
    }
}
