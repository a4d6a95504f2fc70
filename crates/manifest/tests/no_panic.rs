//! Property tests: the parser returns (documents or errors) for any input, never panics.

use haechi_manifest::{Limits, parse_documents};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_text_parses_or_errors(text in "\\PC{0,200}") {
        let _ = parse_documents(&text, &Limits::default());
    }

    #[test]
    fn yaml_shaped_text_parses_or_errors(
        parts in prop::collection::vec(
            prop::sample::select(vec![
                "a:", " b", "- ", "\n", "  ", "[", "]", "{", "}", ",", "&x ", "*x", "<<: ", "---\n",
                "'q'", "\"d\\n\"", "|\n  t", "? ", "!!str ", "# c", "~", "yes", "0x1F", "1e3",
            ]),
            0..60,
        )
    ) {
        let text: String = parts.concat();
        let _ = parse_documents(&text, &Limits::default());
    }
}
