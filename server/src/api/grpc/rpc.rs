//! The gRPC methods generated from the action table (`keyfall_api::actions`), for the
//! DynamoDB service and the Streams service alike. Names in the bodies (`caller_of`,
//! `to_status`, `FromProto`, `IntoProto`, `unimplemented`, `pb`) resolve where the macro
//! is invoked.

/// The action table's rows as gRPC methods: a built row decodes its request
/// ([`FromProto`]), runs through [`Pipeline`] on the engine method of its name and encodes the
/// answer ([`IntoProto`]); an unbuilt row answers UNIMPLEMENTED naming the action; `custom`
/// rows are written out by hand (`keyfall_api::grpc_method!` spells the methods as
/// `#[async_trait]` would).
macro_rules! engine_rpcs {
    ($($method:ident, $name:literal, $req:ident, $resp:ident, $resource:ident, $class:ident, $proxy:ident, $built:ident, $json:tt;)*) => {
        $(engine_rpc!($built $json $method $name $req $resp);)*
    };
}

macro_rules! engine_rpc {
    (built custom $($row:tt)*) => {};
    ($built:ident $json:tt $method:ident $name:literal $req:ident $resp:ident) => {
        keyfall_api::grpc_method!($method(self, r: pb::$req) -> pb::$resp {
            engine_rpc_body!($built, self, r, $method, $name, $req, $resp)
        });
    };
}

macro_rules! engine_rpc_body {
    (unbuilt, $s:expr, $r:expr, $method:ident, $name:literal, $req:ident, $resp:ident) => {{
        let _ = $r;
        Err(unimplemented($name))
    }};
    (built, $s:expr, $r:expr, $method:ident, $name:literal, $req:ident, $resp:ident) => {{
        let caller = caller_of(&$r)?;
        let input: <pb::$req as keyfall_api::grpc::codec::Decoded>::Input =
            FromProto::from_proto($r.into_inner()).map_err(to_status)?;
        let action = concat!("dynamodb:", $name);
        let out = $s
            .gate
            .rpc(&caller, action, input, |e, i| e.$method(i))
            .await?;
        Ok(Response::new(IntoProto::<pb::$resp>::into_proto(out)))
    }};
}
