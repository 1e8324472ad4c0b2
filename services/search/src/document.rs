//! What is indexed and what a search asks and answers.
