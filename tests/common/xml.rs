//! Reading the change report's HTML and SVG back as XML.

/// Parses the HTML page as XML; its `<!DOCTYPE html>` is a DTD to roxmltree.
pub fn parse_html(html: &str) -> roxmltree::Document<'_> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    roxmltree::Document::parse_with_options(html, options).expect("well-formed HTML")
}

/// The number of points of each data series in an SVG (markers and legend lines have 2).
pub fn polylines_with_points(svg: roxmltree::Node<'_, '_>) -> Vec<usize> {
    svg.descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .map(|n| {
            n.attribute("points")
                .unwrap_or("")
                .split_whitespace()
                .count()
        })
        .filter(|&n| n > 2)
        .collect()
}
