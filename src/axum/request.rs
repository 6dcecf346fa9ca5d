//! axum's (and `http`'s) requests as the core reads them ([`RequestHead`]), and where the
//! layer keeps each request's context (the request extensions).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use http::request::Parts;
use http::{Extensions, HeaderMap, Method, Request, Uri};

use crate::core::{RequestContext, RequestHead};

/// The parts of a request the core reads, borrowed from `Parts` or a whole `Request`.
trait Head {
    fn method(&self) -> &Method;
    fn uri(&self) -> &Uri;
    fn header_map(&self) -> &HeaderMap;
    fn extensions(&self) -> &Extensions;
}

impl Head for Parts {
    fn method(&self) -> &Method {
        &self.method
    }
    fn uri(&self) -> &Uri {
        &self.uri
    }
    fn header_map(&self) -> &HeaderMap {
        &self.headers
    }
    fn extensions(&self) -> &Extensions {
        &self.extensions
    }
}

impl<B> Head for Request<B> {
    fn method(&self) -> &Method {
        Request::method(self)
    }
    fn uri(&self) -> &Uri {
        Request::uri(self)
    }
    fn header_map(&self) -> &HeaderMap {
        Request::headers(self)
    }
    fn extensions(&self) -> &Extensions {
        Request::extensions(self)
    }
}

/// Implements [`RequestHead`] through [`Head`] (for `Parts` and every `Request<B>`).
macro_rules! request_head {
    () => {
        fn method(&self) -> &str {
            Head::method(self).as_str()
        }

        fn path(&self) -> &str {
            Head::uri(self).path()
        }

        fn query(&self) -> &str {
            Head::uri(self).query().unwrap_or("")
        }

        fn headers<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
            self.header_map()
                .get_all(name)
                .into_iter()
                .filter_map(|value| value.to_str().ok())
        }

        fn contains_header(&self, name: &str) -> bool {
            self.header_map().contains_key(name)
        }

        /// The TCP peer, when the app is served with
        /// `into_make_service_with_connect_info::<SocketAddr>()`.
        fn peer_addr(&self) -> Option<SocketAddr> {
            Head::extensions(self)
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| *peer)
        }

        fn scheme(&self) -> String {
            Head::uri(self).scheme_str().unwrap_or("http").to_owned()
        }

        fn host(&self) -> String {
            self.header_map()
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .or_else(|| Head::uri(self).authority().map(|a| a.as_str()))
                .unwrap_or_default()
                .to_owned()
        }
    };
}

impl RequestHead for Parts {
    request_head!();
}

impl<B> RequestHead for Request<B> {
    request_head!();
}

/// The context the layer made for the request, if the route is wrapped by it.
pub(crate) fn context_of(extensions: &Extensions) -> Option<Arc<RequestContext>> {
    extensions.get::<Arc<RequestContext>>().cloned()
}
