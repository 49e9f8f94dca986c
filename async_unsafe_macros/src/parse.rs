use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{Error, Ident, Lit, LitStr, Path, Result, Token};

/// What the attribute was given; `None` means "the default, or the enclosing
/// `impl` block's choice".
#[derive(Default, Clone)]
pub(crate) struct Args {
    pub message: Option<LitStr>,
    pub krate: Option<Path>,
    pub mode: Option<Mode>,
}

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Mode {
    /// Return `Err(From::from(error))`.
    Error,
    /// Panic with the error's text.
    Panic,
}

const EXPECTED: &str =
    "expected `\"message\"`, `message = \"...\"`, `error`, `panic` or `crate = path`";

impl Parse for Args {
    fn parse(input: ParseStream) -> Result<Self> {
        let mut args = Args::default();
        while !input.is_empty() {
            if input.peek(LitStr) {
                args.set_message(input.parse()?)?;
            } else if input.peek(Lit) {
                let lit: Lit = input.parse()?;
                return Err(Error::new(
                    lit.span(),
                    "the message must be a string literal, like `#[async_unsafe(\"use sync_to_async\")]`",
                ));
            } else if input.peek(Token![crate]) {
                let kw: Token![crate] = input.parse()?;
                const HELP: &str = "`crate` takes a path: `crate = my_crate::async_unsafe_runtime`";
                expect_eq(input, kw.span, HELP)?;
                let path = input
                    .parse::<Path>()
                    .map_err(|err| Error::new(err.span(), HELP))?;
                set_once(&mut args.krate, path, kw.span, "crate")?;
            } else if input.peek(Ident) {
                let ident: Ident = input.parse()?;
                match ident.to_string().as_str() {
                    "message" => {
                        expect_eq(
                            input,
                            ident.span(),
                            "`message` takes a string: `message = \"...\"`",
                        )?;
                        if !input.peek(LitStr) {
                            return Err(input.error(
                                "the message must be a string literal, like `message = \"use sync_to_async\"`",
                            ));
                        }
                        args.set_message(input.parse()?)?;
                    }
                    "error" => args.set_mode(Mode::Error, &ident)?,
                    "panic" => args.set_mode(Mode::Panic, &ident)?,
                    other => {
                        return Err(Error::new(
                            ident.span(),
                            format!("unknown argument `{other}`: {EXPECTED}"),
                        ));
                    }
                }
            } else {
                return Err(input.error(EXPECTED));
            }
            if input.is_empty() {
                break;
            }
            if !input.peek(Token![,]) {
                return Err(input.error("expected `,` between arguments"));
            }
            input.parse::<Token![,]>()?;
        }
        Ok(args)
    }
}

impl Args {
    fn set_message(&mut self, lit: LitStr) -> Result<()> {
        if lit.value().trim().is_empty() {
            return Err(Error::new(
                lit.span(),
                "the message must not be empty: it is the advice the caller reads",
            ));
        }
        let span = lit.span();
        set_once(&mut self.message, lit, span, "message")
    }

    fn set_mode(&mut self, mode: Mode, ident: &Ident) -> Result<()> {
        if self.mode.is_some() {
            return Err(Error::new(
                ident.span(),
                "choose one of `error` and `panic`, once",
            ));
        }
        self.mode = Some(mode);
        Ok(())
    }

    /// A function's own attribute inside a marked `impl` block wins over the
    /// block's.
    pub(crate) fn overridden_by(&self, inner: Args) -> Args {
        Args {
            message: inner.message.or_else(|| self.message.clone()),
            krate: inner.krate.or_else(|| self.krate.clone()),
            mode: inner.mode.or(self.mode),
        }
    }
}

fn expect_eq(input: ParseStream, span: Span, help: &str) -> Result<()> {
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        Ok(())
    } else {
        Err(Error::new(span, help))
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T, span: Span, name: &str) -> Result<()> {
    if slot.is_some() {
        return Err(Error::new(span, format!("duplicate `{name}` argument")));
    }
    *slot = Some(value);
    Ok(())
}
