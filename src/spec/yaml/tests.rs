use super::*;

#[test]
fn positions_follow_field_paths() {
    let docs =
        parse_documents(b"version: x\nslos:\n  - name: a\n    sli:\n      raw: {q: 1}\n").unwrap();
    let index = &docs[0].index;
    assert_eq!(
        index.find("slos[0].name"),
        Some(Pos {
            line: 3,
            column: 11
        })
    );
    assert_eq!(index.find("slos[0].sli.raw.q").map(|p| p.line), Some(5));
    // A path that was never written resolves to its nearest written ancestor.
    assert_eq!(
        index.find("slos[0].sli.raw.missing").map(|p| p.line),
        Some(5)
    );
}

#[test]
fn syntax_errors_have_a_position() {
    let e = parse_documents(b"a: [1, 2\nb: c\n").unwrap_err();
    assert_eq!(e.pos.map(|p| p.line), Some(2));
    assert!(e.message.starts_with("invalid YAML"), "{}", e.message);
}

#[test]
fn binary_and_non_utf8_are_refused() {
    let e = parse_documents(b"a: 1\nb: \xff\xfe\n").unwrap_err();
    assert_eq!(e.pos, Some(Pos { line: 2, column: 4 }));
    assert!(
        parse_documents(b"a: 1\0\0\0")
            .unwrap_err()
            .message
            .contains("NUL")
    );
}

#[test]
fn alias_bomb_is_refused() {
    let mut text = String::from("a0: &a0 [x,x,x,x,x,x,x,x,x,x]\n");
    for i in 1..10 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            vec![format!("*a{p}"); 10].join(",")
        ));
    }
    let e = parse_documents(text.as_bytes()).unwrap_err();
    assert!(e.message.contains("YAML refused"), "{}", e.message);
}

#[test]
fn deep_nesting_is_refused() {
    let text = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    let e = parse_documents(text.as_bytes()).unwrap_err();
    assert!(
        e.message.contains("YAML refused") || e.message.contains("invalid YAML"),
        "{}",
        e.message
    );
}
