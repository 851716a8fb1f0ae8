use super::*;

#[test]
fn parses_a_matrix() {
    let body = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"route":"/a"},"values":[[1700000060,"1.5"],[1700000120,"NaN"]]}]}}"#;
    let s = parse_body(200, body).unwrap();
    assert_eq!(s[0].labels["route"], "/a");
    assert_eq!(s[0].points[0], (1_700_000_060_000, 1.5));
    assert!(s[0].points[1].1.is_nan());
}

#[test]
fn classifies_faults() {
    assert_eq!(
        parse_body(200, b"<html>").unwrap_err().outcome(),
        "bad_response"
    );
    assert_eq!(
        parse_body(502, b"bad gateway").unwrap_err().outcome(),
        "http_error"
    );
    assert_eq!(
        parse_body(
            400,
            br#"{"status":"error","errorType":"bad_data","error":"parse error"}"#
        )
        .unwrap_err()
        .outcome(),
        "query_error"
    );
    assert_eq!(parse_body(200, br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"x"]]}]}}"#).unwrap_err().outcome(), "bad_response");
    assert_eq!(
        parse_body(200, br#"{"status":"succ"#)
            .unwrap_err()
            .outcome(),
        "bad_response"
    );
}

#[test]
fn base64_matches_the_rfc_examples() {
    for (input, want) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64(input.as_bytes()), want);
    }
}

#[test]
fn parses_metadata() {
    let body = br#"{"status":"success","data":{"queue_depth":[{"type":"gauge","help":"h","unit":""},{"type":"gauge","help":"other","unit":""}],"other":[{"type":"counter","help":"","unit":""}]}}"#;
    assert_eq!(parse_metadata(200, body, "queue_depth").unwrap(), ["gauge"]);
    assert!(
        parse_metadata(200, br#"{"status":"success","data":{}}"#, "x")
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        parse_metadata(404, b"404 page not found", "x")
            .unwrap_err()
            .outcome(),
        "http_error"
    );
}
