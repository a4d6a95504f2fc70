//! containerd's containers API, over its unix socket: what containerd keeps of a container
//! (its labels, image reference and OCI runtime spec), which for a container that CRI made
//! names its pod and its container in the pod.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::body::Incoming;
use hyper::client::conn::http2::SendRequest;
use hyper::http::uri::{PathAndQuery, Uri};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tonic::body::Body;
use tonic::client::Grpc;
use tonic_prost::ProstCodec;

/// The messages of containerd's `api/services/{containers,namespaces}/v1/*.proto` and
/// `google/protobuf/any.proto` that haechi uses, declared with their tags. Only the fields
/// haechi reads are declared: protobuf skips the others, so newer containerd releases still
/// decode. Declaring them here instead of compiling the .proto files keeps protoc out of the
/// build.
pub(super) mod proto {
    use std::collections::BTreeMap;

    /// `containerd.services.namespaces.v1.ListNamespacesRequest`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ListNamespacesRequest {}

    /// `containerd.services.namespaces.v1.ListNamespacesResponse`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ListNamespacesResponse {
        /// Every namespace.
        #[prost(message, repeated, tag = "1")]
        pub namespaces: Vec<Namespace>,
    }

    /// `containerd.services.namespaces.v1.Namespace`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Namespace {
        /// Its name (`k8s.io` for CRI, `moby` for Docker, `default` for ctr).
        #[prost(string, tag = "1")]
        pub name: String,
    }

    /// `containerd.services.containers.v1.GetContainerRequest`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct GetContainerRequest {
        /// The container's id.
        #[prost(string, tag = "1")]
        pub id: String,
    }

    /// `containerd.services.containers.v1.GetContainerResponse`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct GetContainerResponse {
        /// The container.
        #[prost(message, optional, tag = "1")]
        pub container: Option<Container>,
    }

    /// `containerd.services.containers.v1.Container`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Container {
        /// Its id.
        #[prost(string, tag = "1")]
        pub id: String,
        /// Its labels: CRI's `io.kubernetes.*` ones name the pod and the container.
        #[prost(btree_map = "string, string", tag = "2")]
        pub labels: BTreeMap<String, String>,
        /// The reference of the image it was made from.
        #[prost(string, tag = "3")]
        pub image: String,
        /// Its OCI runtime spec, as JSON.
        #[prost(message, optional, tag = "5")]
        pub spec: Option<Any>,
    }

    /// `google.protobuf.Any`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Any {
        /// What `value` holds (`types.containerd.io/opencontainers/runtime-spec/1/Spec`).
        #[prost(string, tag = "1")]
        pub type_url: String,
        /// The value, encoded as its type says (JSON for an OCI spec).
        #[prost(bytes = "vec", tag = "2")]
        pub value: Vec<u8>,
    }
}

/// An HTTP/2 connection to containerd as the service tonic's client calls.
#[derive(Clone)]
struct Connection(SendRequest<Body>);

impl tower_service::Service<hyper::Request<Body>> for Connection {
    type Response = hyper::Response<Incoming>;
    type Error = hyper::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: hyper::Request<Body>) -> Self::Future {
        Box::pin(self.0.send_request(request))
    }
}

/// containerd's record of container `id`, from the containerd at `socket`; `None` when the
/// socket does not exist or no namespace has the container.
///
/// containerd keeps containers apart by namespace, and every request names one (the
/// `containerd-namespace` header). The namespaces are listed rather than guessed: CRI's is
/// `k8s.io`, Docker's `moby`, ctr's and nerdctl's `default`, but any client may make its own,
/// and the list costs one more round trip on a connection already open.
pub(super) async fn container(socket: &Path, id: &str) -> Result<Option<proto::Container>, String> {
    if !socket.exists() {
        return Ok(None);
    }
    let stream = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|e| format!("{}: {e}", socket.display()))?;
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .map_err(|e| format!("{}: {e}", socket.display()))?;
    tokio::spawn(connection);
    let mut client = Grpc::with_origin(Connection(sender), Uri::from_static("http://containerd"));
    let namespaces: proto::ListNamespacesResponse = call(
        &mut client,
        None,
        "/containerd.services.namespaces.v1.Namespaces/List",
        proto::ListNamespacesRequest {},
    )
    .await?
    .unwrap_or_default();
    for namespace in namespaces.namespaces {
        let request = proto::GetContainerRequest { id: id.to_owned() };
        let path = "/containerd.services.containers.v1.Containers/Get";
        let found: Option<proto::GetContainerResponse> =
            call(&mut client, Some(&namespace.name), path, request).await?;
        if let Some(container) = found.and_then(|r| r.container) {
            return Ok(Some(container));
        }
    }
    Ok(None)
}

/// One unary call in `namespace`; `None` when containerd answers NotFound.
async fn call<Req, Resp>(
    client: &mut Grpc<Connection>,
    namespace: Option<&str>,
    path: &'static str,
    message: Req,
) -> Result<Option<Resp>, String>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
{
    let mut request = tonic::Request::new(message);
    if let Some(namespace) = namespace {
        let value = namespace
            .parse()
            .map_err(|_| format!("namespace {namespace:?} is not a header value"))?;
        request.metadata_mut().insert("containerd-namespace", value);
    }
    client.ready().await.map_err(|e| e.to_string())?;
    let codec = ProstCodec::<Req, Resp>::default();
    match client
        .unary(request, PathAndQuery::from_static(path), codec)
        .await
    {
        Ok(response) => Ok(Some(response.into_inner())),
        Err(status) if status.code() == tonic::Code::NotFound => Ok(None),
        Err(status) => Err(format!("{path}: {status}")),
    }
}
