//! `ai-search mcp`: the index as a Model Context Protocol server on stdin and stdout, so that an
//! AI assistant can search it, read passages by reference and list the authors and topics.

use std::sync::Arc;

use ai_search::{FacetCount, Hit, IsoDate, Passage, PassageRef, SearchIndex, SearchRequest, Sort};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{tool, tool_handler, tool_router, Json, ServerHandler, ServiceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Most hits one `search` or `similar` call returns.
const MAX_LIMIT: usize = 50;

/// Serves `index` until the client closes the connection.
pub fn serve(index: SearchIndex) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let server = Server::new(index);
        let running = server.serve(rmcp::transport::stdio()).await?;
        running.waiting().await?;
        anyhow::Ok(())
    })
}

#[derive(Clone)]
struct Server {
    index: Arc<SearchIndex>,
    tool_router: ToolRouter<Server>,
}

/// Filters and order shared by `search` and `similar`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
struct Filters {
    /// Only paragraphs by this author (case-insensitive; any spelling of the name the corpus's
    /// aliases file lists).
    author: Option<String>,
    /// Only documents whose topic (title) contains this phrase.
    topic: Option<String>,
    /// Only documents dated on or after this day, as YYYY-MM-DD.
    since: Option<String>,
    /// Only documents dated on or before this day, as YYYY-MM-DD.
    until: Option<String>,
    /// Order of the hits: "relevance" (the default), "newest" or "oldest" (undated last).
    sort: Option<SortParam>,
    /// Number of hits to return (default 10, at most 50).
    limit: Option<usize>,
    /// Number of hits to skip, for paging (default 0).
    offset: Option<usize>,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum SortParam {
    Relevance,
    Newest,
    Oldest,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct SearchParams {
    /// Words or "quoted phrases" (ranked paragraphs; misspellings are corrected); AND, OR, NOT,
    /// +word, -word, author:NAME and topic:WORD also work.
    query: String,
    #[serde(flatten)]
    filters: Filters,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct SimilarParams {
    /// The paragraph's reference, the `ref` of a hit (PATH#N).
    #[serde(rename = "ref")]
    reference: String,
    #[serde(flatten)]
    filters: Filters,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct ShowParams {
    /// The paragraph's reference, the `ref` of a hit (PATH#N).
    #[serde(rename = "ref")]
    reference: String,
    /// Paragraphs of the same document to include before and after it (default 1).
    context: Option<usize>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct SearchOutput {
    /// The query, or the reference for `similar`.
    query: String,
    /// The query as searched when misspelled words were corrected.
    corrected_query: Option<String>,
    /// How the query was read, when syntax was ignored.
    notices: Vec<String>,
    /// Number of hits in the whole ranking, counted up to 1,000.
    total_hits: usize,
    /// False when counting stopped: more paragraphs match than `total_hits`.
    total_hits_exact: bool,
    offset: usize,
    hits: Vec<HitOutput>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct HitOutput {
    rank: usize,
    /// The paragraph's reference: pass it to `show` for its context, or to `similar`.
    #[serde(rename = "ref")]
    reference: String,
    author: String,
    topic: String,
    date: Option<String>,
    section: Option<String>,
    url: Option<String>,
    /// The part of the paragraph that best shows the match.
    snippet: String,
    /// The whole paragraph.
    text: String,
    /// References of copies of the same paragraph in other files (at most 3).
    also_in: Vec<String>,
    /// How many copies there are in all.
    also_in_total: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
struct PassageOutput {
    #[serde(rename = "ref")]
    reference: String,
    author: String,
    topic: String,
    date: Option<String>,
    section: Option<String>,
    url: Option<String>,
    tags: Vec<String>,
    text: String,
    /// Paragraphs before it in the same document, nearest last.
    before: Vec<String>,
    /// Paragraphs after it in the same document, nearest first.
    after: Vec<String>,
    /// References of copies of the same paragraph in other files (at most 3).
    also_in: Vec<String>,
    /// How many copies there are in all.
    also_in_total: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
struct AuthorsOutput {
    authors: Vec<CountOutput>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct TopicsOutput {
    topics: Vec<CountOutput>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct CountOutput {
    value: String,
    paragraphs: usize,
    documents: usize,
}

#[tool_router]
impl Server {
    fn new(index: SearchIndex) -> Server {
        Server {
            index: Arc::new(index),
            tool_router: Self::tool_router(),
        }
    }

    /// The index as last committed: `ai-search index` may have run since the server started.
    fn index(&self) -> Result<&SearchIndex, String> {
        self.index.refresh().map_err(|err| err.to_string())?;
        Ok(&self.index)
    }

    #[tool(
        description = "Search the indexed AI-alignment writing. Returns ranked paragraphs with \
                       their reference (`ref`), author, topic, date, a snippet and the whole text."
    )]
    async fn search(
        &self,
        Parameters(params): Parameters<SearchParams>,
    ) -> Result<Json<SearchOutput>, String> {
        let request = request(params.query, params.filters)?;
        let results = self
            .index()?
            .search(&request)
            .map_err(|err| err.to_string())?;
        Ok(Json(search_output(results)))
    }

    #[tool(
        description = "Paragraphs of other documents most like the paragraph with this `ref`, \
                       in the same form as `search`."
    )]
    async fn similar(
        &self,
        Parameters(params): Parameters<SimilarParams>,
    ) -> Result<Json<SearchOutput>, String> {
        let request = request(params.reference, params.filters)?;
        let results = self
            .index()?
            .similar(&request)
            .map_err(|err| err.to_string())?;
        Ok(Json(search_output(results)))
    }

    #[tool(
        description = "One paragraph by its `ref` (from a search hit), with the paragraphs around \
                       it and its document's author, topic, date and url: for reading and citing."
    )]
    async fn show(
        &self,
        Parameters(params): Parameters<ShowParams>,
    ) -> Result<Json<PassageOutput>, String> {
        let reference: PassageRef = params.reference.parse().map_err(|err| format!("{err}"))?;
        let passage = self
            .index()?
            .passage(&reference, params.context.unwrap_or(1))
            .map_err(|err| err.to_string())?;
        Ok(Json(passage_output(passage)))
    }

    #[tool(
        description = "Every author in the index with their numbers of paragraphs and documents, \
                       most paragraphs first."
    )]
    async fn list_authors(&self) -> Result<Json<AuthorsOutput>, String> {
        let authors = self.index()?.authors().map_err(|err| err.to_string())?;
        Ok(Json(AuthorsOutput {
            authors: authors.into_iter().map(count_output).collect(),
        }))
    }

    #[tool(
        description = "Every topic (document title) in the index with its numbers of paragraphs \
                       and documents, most paragraphs first."
    )]
    async fn list_topics(&self) -> Result<Json<TopicsOutput>, String> {
        let topics = self.index()?.topics().map_err(|err| err.to_string())?;
        Ok(Json(TopicsOutput {
            topics: topics.into_iter().map(count_output).collect(),
        }))
    }
}

#[tool_handler(
    router = self.tool_router,
    name = "ai-search",
    instructions = "Full-text search over a local corpus of AI-alignment writing (forum posts, \
                    essays, papers). Use `search` to find paragraphs, `show` with a hit's `ref` \
                    to read it in context and cite it, `similar` for related paragraphs, and \
                    `list_authors` / `list_topics` to see what the corpus holds."
)]
impl ServerHandler for Server {}

/// The library's request for a tool's parameters.
fn request(query: String, filters: Filters) -> Result<SearchRequest, String> {
    let date = |text: Option<String>| -> Result<Option<IsoDate>, String> {
        text.map(|text| text.parse::<IsoDate>().map_err(|err| err.to_string()))
            .transpose()
    };
    Ok(SearchRequest {
        author: filters.author,
        topic: filters.topic,
        since: date(filters.since)?,
        until: date(filters.until)?,
        sort: match filters.sort {
            None | Some(SortParam::Relevance) => Sort::Relevance,
            Some(SortParam::Newest) => Sort::Newest,
            Some(SortParam::Oldest) => Sort::Oldest,
        },
        limit: filters.limit.unwrap_or(10).min(MAX_LIMIT),
        offset: filters.offset.unwrap_or(0),
        // The assistant can ask `show` for context; hits stay small.
        context: 0,
        ..SearchRequest::new(query)
    })
}

fn search_output(results: ai_search::SearchResults) -> SearchOutput {
    SearchOutput {
        query: results.query,
        corrected_query: results.corrected_query,
        notices: results.notices,
        total_hits: results.total_hits,
        total_hits_exact: results.total_hits_exact,
        offset: results.offset,
        hits: results.hits.into_iter().map(hit_output).collect(),
    }
}

fn hit_output(hit: Hit) -> HitOutput {
    HitOutput {
        rank: hit.rank,
        reference: hit.reference,
        author: hit.author,
        topic: hit.topic,
        date: hit.date,
        section: hit.section,
        url: hit.url,
        snippet: hit.snippet,
        text: hit.text,
        also_in: hit.also_in.into_iter().map(|copy| copy.reference).collect(),
        also_in_total: hit.also_in_total,
    }
}

fn passage_output(passage: Passage) -> PassageOutput {
    PassageOutput {
        reference: passage.reference,
        author: passage.author,
        topic: passage.topic,
        date: passage.date,
        section: passage.section,
        url: passage.url,
        tags: passage.tags,
        text: passage.text,
        before: passage.before,
        after: passage.after,
        also_in: passage
            .also_in
            .into_iter()
            .map(|copy| copy.reference)
            .collect(),
        also_in_total: passage.also_in_total,
    }
}

fn count_output(count: FacetCount) -> CountOutput {
    CountOutput {
        value: count.value,
        paragraphs: count.paragraphs,
        documents: count.documents,
    }
}
