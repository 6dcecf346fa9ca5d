//! actix-web's requests as the core reads them ([`RequestHead`]), and where the middleware
//! keeps each request's context (the request extensions).

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::{HttpMessage, HttpRequest};

use crate::core::{RequestContext, RequestHead};

impl RequestHead for HttpRequest {
    fn method(&self) -> &str {
        HttpRequest::method(self).as_str()
    }

    fn path(&self) -> &str {
        HttpRequest::path(self)
    }

    fn query(&self) -> &str {
        self.query_string()
    }

    fn headers<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        HttpRequest::headers(self)
            .get_all(name)
            .filter_map(|value| value.to_str().ok())
    }

    fn contains_header(&self, name: &str) -> bool {
        HttpRequest::headers(self).contains_key(name)
    }

    fn peer_addr(&self) -> Option<SocketAddr> {
        HttpRequest::peer_addr(self)
    }

    fn scheme(&self) -> String {
        self.connection_info().scheme().to_owned()
    }

    fn host(&self) -> String {
        self.connection_info().host().to_owned()
    }
}

/// The context the middleware made for `req`, if the route is wrapped by it.
pub(crate) fn context_of(req: &HttpRequest) -> Option<Arc<RequestContext>> {
    req.extensions().get::<Arc<RequestContext>>().cloned()
}

/// Keeps the request's context for everything downstream (extractors, guard, handlers).
pub(crate) fn attach(req: &impl HttpMessage, context: Arc<RequestContext>) {
    req.extensions_mut().insert(context);
}
